;; Threads: four threads allocate lists and strings at once (the
;; collector stops them all), and their results are joined.
(use-modules (ice-9 threads) (srfi srfi-1))
(define (work id)
  (let loop ((r 0) (acc 0))
    (if (= r 10) acc
        (let* ((l (map (lambda (i) (cons i (number->string (+ i id)))) (iota 3000)))
               (s (fold (lambda (p a) (+ a (string-length (cdr p)))) 0 l)))
          (loop (+ r 1) (+ acc s))))))
(define threads (map (lambda (id) (call-with-new-thread (lambda () (work id)))) (iota 4)))
(display (list 'joined (map join-thread threads))) (newline)
(display (list 'par-map (apply + (par-map (lambda (x) (length (iota (* x 1000)))) (iota 12))))) (newline)
(define m (make-mutex))
(define counter 0)
(define ts (map (lambda (i) (call-with-new-thread (lambda () (let loop ((k 0)) (when (< k 1000) (lock-mutex m) (set! counter (+ counter 1)) (unlock-mutex m) (make-list 10 k) (loop (+ k 1))))))) (iota 4)))
(for-each join-thread ts)
(display (list 'counter counter)) (newline)
